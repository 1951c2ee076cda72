from django.urls import reverse


def customer_url(pk) -> str:
    return reverse("records:customer", args=[pk])


def product_url(serial_number) -> str:
    return reverse("records:product", args=[serial_number])
