from photoshare.db.database import Database

__all__ = ["Database"]
