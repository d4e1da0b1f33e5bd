"""Front ends: the HTTP API (`app.create_app`, one router per resource in `routes/`) and the CLI (`cli`)."""
