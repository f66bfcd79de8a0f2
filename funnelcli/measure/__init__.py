"""From qualified leads to numbers: qualification, metrics, comparisons, insights, targets."""
