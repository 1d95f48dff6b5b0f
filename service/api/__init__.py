"""HTTP routes: probes and metrics (health.py), models and classification (models.py)."""
