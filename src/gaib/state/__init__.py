"""State: the Terraform-shaped record of which Discord objects Gaib manages, and where it is kept."""
