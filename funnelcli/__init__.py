"""funnel: marketing-funnel reports from CRM and ad-platform exports."""

__version__ = "0.1.0"
