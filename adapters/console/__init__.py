"""firmaio console: the operators' web app (extra [console])."""
