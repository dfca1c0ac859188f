"""The CME register: children, notifications, cases, tasks, statutory clocks and their persistence."""
