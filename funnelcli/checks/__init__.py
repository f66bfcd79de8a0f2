"""The data-quality checks that need whole tables or the policy."""
