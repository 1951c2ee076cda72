import hashlib

from django import forms
from django.core.cache import caches
from django.core.exceptions import ValidationError
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from servicedesk.forms import DateField, DateTimeField, PlainSelect, VersionField
from servicedesk.models import OrgUnit, name_in_language, person_name
from servicedesk.prepared import PreparedRead
from servicedesk.scoping import NOTHING, in_unit, scope_to_user, scope_unit_of

from .models import Customer, Product, RepairCall, Site, Zone, phone_validator
from .services.calls import NewCustomer, NewProduct, NewSite

DATETIME_INPUT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


# The chosen product (or site) with what the call's deadline needs, for every call logged: prepared reads
# (servicedesk.prepared), filtered by the user's unit as scope_to_user would (None: head office, every unit).
def _chosen_read(model, *related) -> PreparedRead:
    return PreparedRead(
        f"chosen_{model._meta.model_name}",
        lambda *, pk, unit_id: (
            in_unit(model.objects.filter(pk=pk), unit_id, unit_field="customer__unit")
            .select_related("customer", *related)
            .order_by()
        ),
    )


_CHOSEN_PRODUCT = _chosen_read(Product, "site__zone__calendar")
_CHOSEN_SITE = _chosen_read(Site, "zone__calendar")


def _pk(model, value):
    """``value`` as the model's primary key, or None when it is not one (Django's own lookup then refuses it)."""
    if value in forms.Field.empty_values:
        return None
    try:
        return model._meta.pk.to_python(value)
    except ValidationError:
        return None


class ChosenModelChoiceField(forms.ModelChoiceField):
    """A choice taken from the rows its form read beforehand for all its choices at once (``found``).

    A value not among them is looked up as Django does, against the same queryset, with the same error.
    """

    found: dict | None = None

    def to_python(self, value):
        if self.found is not None:
            chosen = self.found.get(_pk(self.queryset.model, value))
            if chosen is not None:
                return chosen
        return super().to_python(value)


class RepairCallLogForm(forms.Form):
    """One form for a call taken by phone: pick a looked-up customer, or type a new one."""

    unit = forms.ModelChoiceField(label=_("Unit"), queryset=OrgUnit.objects.none(), required=False)
    customer = ChosenModelChoiceField(queryset=Customer.objects.none(), required=False, widget=forms.RadioSelect)
    site = ChosenModelChoiceField(queryset=Site.objects.none(), required=False, widget=forms.RadioSelect)
    product = ChosenModelChoiceField(queryset=Product.objects.none(), required=False, widget=forms.RadioSelect)

    new_customer_name = forms.CharField(label=_("Customer name"), max_length=200, required=False)
    new_customer_phone = forms.CharField(
        label=_("Customer phone"), max_length=32, required=False, validators=[phone_validator]
    )
    new_customer_email = forms.EmailField(label=_("Customer e-mail"), required=False)
    new_customer_address = forms.CharField(label=_("Mailing address"), max_length=300, required=False)
    new_site_address = forms.CharField(label=_("Site address"), max_length=300, required=False)
    new_site_zone = forms.ModelChoiceField(
        label=_("Zone"), queryset=Zone.objects.filter(is_active=True), required=False
    )
    new_product_model = forms.CharField(label=_("Product model"), max_length=100, required=False)
    new_product_serial = forms.CharField(label=_("Serial number"), max_length=64, required=False)
    new_product_warranty_end = DateField(
        label=_("Warranty ends"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    contact_name = forms.CharField(label=_("Contact"), max_length=100)
    contact_phone = forms.CharField(label=_("Contact phone"), max_length=32, validators=[phone_validator])
    channel = forms.ChoiceField(
        label=_("Channel"), choices=RepairCall.Channel.choices, initial=RepairCall.Channel.PHONE
    )
    coverage = forms.ChoiceField(
        label=_("Cover"), choices=RepairCall.Coverage.choices, initial=RepairCall.Coverage.UNKNOWN
    )
    problem = forms.CharField(label=_("Problem"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))
    received_at = DateTimeField(label=_("Call received"), widget=DATETIME_INPUT)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        customers = scope_to_user(Customer.objects.all(), user=user)
        self.fields["customer"].queryset = customers
        self.fields["site"].queryset = Site.objects.filter(customer__in=customers).select_related("zone")
        self.fields["product"].queryset = Product.objects.filter(customer__in=customers)
        if self.is_bound:
            self._read_chosen()
        if user.sees_all_units:
            self.fields["unit"].queryset = OrgUnit.objects.filter(is_active=True).exclude(
                kind__in=OrgUnit.HEAD_OFFICE_KINDS
            )
            self.fields["unit"].required = True
        else:
            del self.fields["unit"]
        if not self.is_bound:
            self.initial.setdefault("received_at", timezone.localtime().replace(second=0, microsecond=0))

    def _read_chosen(self) -> None:
        """The chosen customer, site and product in one query (with the site's zone and calendar, which the
        deadline needs): from the product when one is chosen, else from the site. Each is still one of its
        field's queryset (the user's units); whatever the query did not find is looked up field by field."""
        chosen = {name: self.data.get(self.add_prefix(name)) for name in ("customer", "site", "product")}
        product_pk, site_pk = _pk(Product, chosen["product"]), _pk(Site, chosen["site"])
        found = {"customer": {}, "site": {}, "product": {}}
        unit_id = scope_unit_of(self.user)
        if unit_id is NOTHING:
            product_pk = site_pk = None
        if product_pk is not None:
            for product in _CHOSEN_PRODUCT.fetch(pk=product_pk, unit_id=unit_id):
                found["product"][product.pk] = product
                found["customer"][product.customer_id] = product.customer
                if product.site is not None and product.site.customer_id == product.customer_id:
                    found["site"][product.site_id] = product.site
        if site_pk is not None and site_pk not in found["site"]:
            for site in _CHOSEN_SITE.fetch(pk=site_pk, unit_id=unit_id):
                found["site"][site.pk] = site
                found["customer"].setdefault(site.customer_id, site.customer)
        for name, rows in found.items():
            self.fields[name].found = rows

    def clean(self):
        data = super().clean()
        customer = data.get("customer")
        if customer is not None and (data.get("new_customer_name") or data.get("new_customer_phone")):
            self.add_error("new_customer_name", _("Choose the looked-up customer or enter a new one, not both."))
        if customer is None:
            for name in ("new_customer_name", "new_customer_phone"):
                if not data.get(name) and name not in self.errors:
                    self.add_error(name, _("Enter the new customer, or look up an existing one."))
        site = data.get("site")
        if site is None:
            if not data.get("new_site_address") and "new_site_address" not in self.errors:
                self.add_error("new_site_address", _("Choose one of the customer's sites or enter the site address."))
            if not data.get("new_site_zone") and "new_site_zone" not in self.errors:
                self.add_error("new_site_zone", _("Choose the site's zone."))
        elif data.get("new_site_address"):
            self.add_error(
                "new_site_address", _("Choose one of the customer's sites or enter a new address, not both.")
            )
        elif customer is not None and site.customer_id != customer.pk:
            self.add_error("site", _("This site belongs to another customer."))
        if data.get("product") is None and bool(data.get("new_product_model")) != bool(data.get("new_product_serial")):
            self.add_error("new_product_serial", _("Enter both the model and the serial number, or neither."))
        return data

    def log_arguments(self) -> dict:
        """The arguments of ``repair_call_log`` from the valid form: the page and the API build them here, once."""
        data = self.cleaned_data
        return {
            "unit": data.get("unit") or self.user.unit,
            "received_at": data["received_at"],
            "contact_name": data["contact_name"],
            "contact_phone": data["contact_phone"],
            "problem": data["problem"],
            "channel": data["channel"],
            "coverage": data["coverage"],
            "customer": data["customer"],
            "new_customer": None
            if data["customer"]
            else NewCustomer(
                name=data["new_customer_name"],
                phone=data["new_customer_phone"],
                email=data["new_customer_email"],
                address=data["new_customer_address"],
            ),
            "site": data["site"],
            "new_site": None if data["site"] else NewSite(address=data["new_site_address"], zone=data["new_site_zone"]),
            "product": data["product"],
            "new_product": NewProduct(
                model=data["new_product_model"],
                serial_number=data["new_product_serial"],
                warranty_end=data["new_product_warranty_end"],
            )
            if not data["product"] and data["new_product_serial"]
            else None,
        }


class VersionedActionForm(forms.Form):
    """Every action form carries the call version the user saw, to catch a concurrent change."""

    version = VersionField()


class DispatchForm(VersionedActionForm):
    technician = forms.ModelChoiceField(label=_("Technician"), queryset=None)
    reason = forms.CharField(
        label=_("Reason (needed when reassigning)"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, technicians, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["technician"].queryset = technicians
        if not self.is_bound:
            technician_options_when_drawn(self.fields["technician"])


def technician_options_when_drawn(field) -> None:
    """A call page's technician list, kept per process for a minute like the board's options (issue 17).

    Only what is drawn: a form sent back validates against the live queryset, so a technician
    who left is refused however the list was drawn. The key is the queryset's SQL (the unit's
    technicians, or none for a user who may not act in the unit).
    """
    sql, params = field.queryset.query.sql_with_params()
    key = "action-technicians:" + hashlib.sha256(repr((sql, params)).encode()).hexdigest()[:32]
    field.widget.choices = _options_when_drawn(
        field,
        lambda qs: [
            (pk, person_name(username=username, first_name=first, last_name=last))
            for pk, username, first, last in qs.values_list("pk", "username", "first_name", "last_name")
        ],
        key=key,
    )


class ResolveForm(VersionedActionForm):
    outcome = forms.CharField(label=_("What was done"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))


class CancelForm(VersionedActionForm):
    reason = forms.CharField(label=_("Reason for cancelling"), max_length=500, widget=forms.Textarea(attrs={"rows": 2}))


class CloseForm(VersionedActionForm):
    note = forms.CharField(label=_("Note"), max_length=500, required=False)


# The board's filter options (units, zones, the unit's technicians) are kept per process for a
# minute: drawing the bar on every full page of every dispatcher would otherwise read them each
# time. A technician added appears within a minute; a choice no longer valid fails validation
# against the live queryset and the board shows every open call.
FILTER_OPTIONS_SECONDS = 60


def _options_when_drawn(field, options, *, key: str):
    """The field's options, read at the first use and kept (Django looks at them twice when drawing)."""
    read: list = []

    def choices() -> list:
        if not read:
            listed = caches["local"].get(key)
            if listed is None:
                listed = [("", field.empty_label), *options(field.queryset)]
                caches["local"].set(key, listed, FILTER_OPTIONS_SECONDS)
            read.append(listed)
        return read[0]

    return choices


class BoardFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), max_length=100, required=False)
    unit = forms.ModelChoiceField(label=_("Unit"), queryset=OrgUnit.objects.none(), required=False, widget=PlainSelect)
    zone = forms.ModelChoiceField(label=_("Zone"), queryset=Zone.objects.all(), required=False, widget=PlainSelect)
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("All open"))] + [(s.value, s.label) for s in RepairCall.Status if s in RepairCall.OPEN],
        widget=PlainSelect,
    )
    technician = forms.ModelChoiceField(label=_("Technician"), queryset=None, required=False, widget=PlainSelect)

    def __init__(self, *args, user, technicians, **kwargs):
        super().__init__(*args, **kwargs)
        if user.sees_all_units:
            self.fields["unit"].queryset = OrgUnit.objects.exclude(kind__in=OrgUnit.HEAD_OFFICE_KINDS)
        else:
            del self.fields["unit"]
        self.fields["technician"].queryset = technicians
        # The options are read as plain values (one short query each, no model instances), written
        # out by PlainSelect, and only when the bar is drawn: the board's 30-second refresh of its
        # table validates the filters but never draws the bar, so it reads no options at all.
        labels = {
            "unit": lambda qs: qs.values_list("pk", name_in_language()),
            "zone": lambda qs: qs.values_list("pk", name_in_language()),
            "technician": lambda qs: (
                (pk, person_name(username=username, first_name=first, last_name=last))
                for pk, username, first, last in qs.values_list("pk", "username", "first_name", "last_name")
            ),
        }
        unit = str(self.data.get("unit", ""))
        scope = f"all:{unit if unit.isdigit() else ''}" if user.sees_all_units else str(user.unit_id)
        for name, options in labels.items():
            if name in self.fields:
                field = self.fields[name]
                # Units and zones are named in the reader's language: the options are kept per language.
                language = translation.get_language()
                key = f"board-options:{name}:{language}" + (f":{scope}" if name == "technician" else "")
                field.widget.choices = _options_when_drawn(field, options, key=key)
        for field in self.fields.values():
            css = (
                "form-select form-select-sm"
                if isinstance(field.widget, forms.Select)
                else "form-control form-control-sm"
            )
            field.widget.attrs["class"] = css


class TimelineFilterForm(forms.Form):
    """The technicians' timeline: head office chooses a unit (every unit when none); others see their own."""

    unit = forms.ModelChoiceField(label=_("Unit"), queryset=OrgUnit.objects.none(), required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        if user.sees_all_units:
            self.fields["unit"].queryset = OrgUnit.objects.exclude(kind__in=OrgUnit.HEAD_OFFICE_KINDS)
            self.fields["unit"].widget.attrs["data-autosubmit"] = ""
        else:
            del self.fields["unit"]
