"""A support agent run as a Temporal workflow, recorded in Vigil (docs/temporal.md)."""
