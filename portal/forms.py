"""The portal's forms: phone-first (one field per line, big inputs), every choice limited to the customer."""

from django import forms
from django.utils.translation import gettext_lazy as _

from complaints.models import CustomerOpinion
from complaints.services.opinions import OPINION_MAX_LENGTH
from repairs.models import Product, RepairCall, Site, phone_validator

from .principal import CustomerPrincipal
from .signin import CODE_DIGITS


class PhoneForm(forms.Form):
    """Bootstrap classes on every widget, so each input is a full-width, 44 px tap target (portal.css)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.Select):
                widget.attrs.setdefault("class", "form-select")
            elif isinstance(widget, forms.CheckboxInput | forms.RadioSelect):
                widget.attrs.setdefault("class", "form-check-input")
            else:
                widget.attrs.setdefault("class", "form-control")


class SignInForm(PhoneForm):
    address = forms.CharField(
        label=_("E-mail address or mobile number"),
        max_length=254,
        widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}),
    )


class CodeForm(PhoneForm):
    code = forms.CharField(
        label=_("The 6-digit code from the SMS"),
        min_length=CODE_DIGITS,
        max_length=CODE_DIGITS + 4,  # room for the spaces a phone may paste with it
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "pattern": "[0-9 ]*", "autofocus": True}
        ),
    )


class _SiteChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.address


class CallForm(PhoneForm):
    """The customer's repair call: which product (or site) and what is wrong; the desk does the rest."""

    product = forms.ModelChoiceField(label=_("Product"), queryset=Product.objects.none(), required=False)
    site = _SiteChoice(label=_("Site"), queryset=Site.objects.none(), required=False)
    problem = forms.CharField(
        label=_("What is wrong?"), max_length=2000, widget=forms.Textarea(attrs={"rows": 4, "maxlength": 2000})
    )
    contact_name = forms.CharField(label=_("Contact"), max_length=100)
    contact_phone = forms.CharField(
        label=_("Phone for the technician"),
        max_length=32,
        validators=[phone_validator],
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
    )

    def __init__(self, *args, principal: CustomerPrincipal, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["product"].queryset = Product.objects.filter(customer_id=principal.customer_id).select_related(
            "site"
        )
        self.fields["site"].queryset = Site.objects.filter(customer_id=principal.customer_id)

    def clean(self):
        data = super().clean()
        product, site = data.get("product"), data.get("site")
        if product is not None and site is None:
            data["site"] = product.site
        if product is None and site is None and not self.errors:
            raise forms.ValidationError(_("Choose the product or the site that needs the repair."))
        if data.get("site") is None and not self.errors:
            self.add_error("site", _("Choose the site where the product is."))
        elif product is not None and product.site_id and product.site_id != data["site"].pk:
            self.add_error("site", _("This product is at another of your sites."))
        return data


class OpinionForm(PhoneForm):
    kind = forms.ChoiceField(
        label=_("Suggestion or complaint"),
        choices=CustomerOpinion.Kind.choices,
        widget=forms.RadioSelect,
        initial=CustomerOpinion.Kind.SUGGESTION,
    )
    serious = forms.BooleanField(
        label=_("This is serious (for example safety, an injury or a large loss)"), required=False
    )
    call = forms.ModelChoiceField(
        label=_("About a repair call (optional)"), queryset=RepairCall.objects.none(), required=False
    )
    text = forms.CharField(
        label=_("In your own words"),
        max_length=OPINION_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 5, "maxlength": OPINION_MAX_LENGTH}),
    )

    def __init__(self, *args, principal: CustomerPrincipal, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["call"].queryset = RepairCall.objects.filter(customer_id=principal.customer_id).order_by(
            "-received_at"
        )

    def severity(self) -> str:
        if self.cleaned_data["serious"]:
            return CustomerOpinion.Severity.SERIOUS
        return CustomerOpinion.Severity.GENERAL
