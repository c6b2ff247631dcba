"""Provider modules, the shared upstream HTTP layer and the unified models."""
