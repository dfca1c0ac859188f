"""Places and provision: school vacancies by year group and alternative provision / tuition providers (CSV)."""
