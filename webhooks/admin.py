from django import forms
from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from servicedesk.events import EVENTS

from .models import WebhookDelivery, WebhookSubscription
from .services import SUBSCRIBABLE, webhook_subscription_pause, webhook_subscription_resume


class WebhookSubscriptionForm(forms.ModelForm):
    events = forms.MultipleChoiceField(
        label=_("Events"),
        choices=[(name, EVENTS[name]) for name in SUBSCRIBABLE],
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = WebhookSubscription
        fields = ["name", "url", "events", "unit", "is_active", "pause_after"]


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    form = WebhookSubscriptionForm
    list_display = ("name", "url", "unit", "is_active", "paused_at", "consecutive_failures", "delivery_log")
    list_filter = ("is_active",)
    readonly_fields = ("secret", "paused_at", "consecutive_failures", "created_at", "created_by", "delivery_log")
    actions = ["resume", "pause"]

    @admin.display(description=_("Delivery log"))
    def delivery_log(self, obj):
        if obj.pk is None:
            return "—"
        url = reverse("admin:webhooks_webhookdelivery_changelist") + f"?subscription__id__exact={obj.pk}"
        return format_html('<a href="{}">{}</a>', url, _("Deliveries"))

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    @admin.action(description=_("Resume the selected subscriptions"), permissions=["change"])
    def resume(self, request, queryset):
        for subscription in queryset:
            webhook_subscription_resume(user=request.user, subscription_id=subscription.pk)
        messages.success(request, _("Resumed: waiting deliveries are sent now."))

    @admin.action(description=_("Pause the selected subscriptions"), permissions=["change"])
    def pause(self, request, queryset):
        for subscription in queryset:
            webhook_subscription_pause(user=request.user, subscription_id=subscription.pk)
        messages.success(request, _("Paused: deliveries wait until the subscription is resumed."))


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    """The delivery log: read only (the worker writes it)."""

    list_display = (
        "created_at",
        "subscription",
        "event_name",
        "event_id",
        "status",
        "attempts",
        "last_status_code",
        "next_attempt_at",
    )
    list_filter = ("status", "event_name", "subscription")
    list_select_related = ("subscription",)
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
