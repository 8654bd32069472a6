"""The tiersync node: FastAPI app, settings, storage, API and CLI."""
