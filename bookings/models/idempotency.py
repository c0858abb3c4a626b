"""Stored first answers to POSTs that carried an Idempotency-Key."""

from django.db import models

from organizations.models import ApiKey


class IdempotencyRecord(models.Model):
    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="idempotency_records")
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    # Null while the first request is still being processed.
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["api_key", "key"], name="unique_idempotency_key_per_api_key")]

    def __str__(self) -> str:
        return self.key
