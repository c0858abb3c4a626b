"""The resource API: merchants manage everything they own under /api/v1/ (business and hub keys)."""
