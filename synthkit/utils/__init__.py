"""Small cross-cutting helpers: atomic writes, progress bars, seeding."""
