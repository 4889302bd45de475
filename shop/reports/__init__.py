"""Reports for the manager: sales, waste and write-offs, distributors, season against season."""
