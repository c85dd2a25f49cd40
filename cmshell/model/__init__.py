"""The model: schema, values, documents and validation. Pure: no I/O beyond reading the schema."""
