from django.contrib import admin

from .models import CustomerNoticePreference, NoticeRule, PostalItem, UserNoticeSetting


@admin.register(NoticeRule)
class NoticeRuleAdmin(admin.ModelAdmin):
    """Which roles hear of what by e-mail and SMS (in the app always)."""

    list_display = ["role", "topic", "by_email", "by_sms"]
    list_editable = ["by_email", "by_sms"]
    list_filter = ["role", "topic"]


@admin.register(UserNoticeSetting)
class UserNoticeSettingAdmin(admin.ModelAdmin):
    """One person's own channels, overriding their roles' rules."""

    list_display = ["user", "topic", "by_email", "by_sms"]
    list_editable = ["by_email", "by_sms"]
    list_filter = ["topic"]
    autocomplete_fields = ["user"]
    search_fields = ["user__username", "user__first_name", "user__last_name"]


@admin.register(CustomerNoticePreference)
class CustomerNoticePreferenceAdmin(admin.ModelAdmin):
    list_display = ["customer", "channel", "mobile", "updated_at"]
    list_filter = ["channel"]
    autocomplete_fields = ["customer"]
    search_fields = ["customer__name", "customer__phone"]


@admin.register(PostalItem)
class PostalItemAdmin(admin.ModelAdmin):
    """The postal list, to read: letters are written by the notices and marked posted on the list page."""

    list_display = ["created_at", "unit", "customer", "topic", "subject", "posted_at"]
    list_filter = ["topic", "unit"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
