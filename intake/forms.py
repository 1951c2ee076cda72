from django import forms
from django.utils.translation import gettext_lazy as _

from repairs.models import Customer, Product, Site, phone_validator
from servicedesk.forms import VersionField
from servicedesk.scoping import scope_to_user


class CustomerSearchForm(forms.Form):
    q = forms.CharField(label=_("Find the customer (name, phone or serial number)"), max_length=100, required=False)


class MatchForm(forms.Form):
    """The dispatcher's choice for a message of the queue; every choice is limited to what the user may see."""

    customer = forms.ModelChoiceField(label=_("Customer"), queryset=Customer.objects.none(), widget=forms.HiddenInput)
    site = forms.ModelChoiceField(label=_("Site"), queryset=Site.objects.none(), widget=forms.RadioSelect)
    product = forms.ModelChoiceField(
        label=_("Product"), queryset=Product.objects.none(), required=False, widget=forms.RadioSelect
    )
    contact_name = forms.CharField(label=_("Contact"), max_length=100)
    contact_phone = forms.CharField(label=_("Contact phone"), max_length=32, validators=[phone_validator])
    problem = forms.CharField(label=_("Problem"), max_length=2000, widget=forms.Textarea(attrs={"rows": 5}))
    version = VersionField()

    def __init__(self, *args, user, customer: Customer | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        customers = scope_to_user(Customer.objects.all(), user=user)
        self.fields["customer"].queryset = customers
        chosen = customer
        if self.is_bound:
            raw = self.data.get("customer", "")
            chosen = customers.filter(pk=raw).first() if str(raw).isdigit() else None
        if chosen is not None:
            self.fields["site"].queryset = Site.objects.filter(customer=chosen).select_related("zone").order_by("pk")
            self.fields["product"].queryset = Product.objects.filter(customer=chosen).order_by("serial_number")
            self.fields["customer"].initial = chosen.pk

    def clean(self):
        data = super().clean()
        customer, site, product = data.get("customer"), data.get("site"), data.get("product")
        if customer and site and site.customer_id != customer.pk:
            self.add_error("site", _("This site belongs to another customer."))
        if customer and product and product.customer_id != customer.pk:
            self.add_error("product", _("This product belongs to another customer."))
        return data
