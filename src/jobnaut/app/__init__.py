"""The backend API service: one package per feature (accounts, jobs, saved, matching)."""
