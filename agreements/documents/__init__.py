"""Documents: background render jobs, the PDF views, sealing."""
