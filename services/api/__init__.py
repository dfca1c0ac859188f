"""The API: partner pushes, whereabouts enquiries, officer and operator endpoints and the console."""
