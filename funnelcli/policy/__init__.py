"""The policy file: YAML read safely, validated into a Policy, conditions, export presets."""
