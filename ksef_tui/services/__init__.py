"""Use cases, one module each (setup/doctor, purchase sync, booking, sales send, UPO, mail)."""
