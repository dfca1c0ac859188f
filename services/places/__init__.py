"""School places and alternative provision: the latest picture of vacancies, and proposals for a found child."""
