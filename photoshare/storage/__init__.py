"""Blob storage: where originals and variants live. Keys come only from photoshare.storage.keys."""

from photoshare.storage.base import BlobNotFound, BlobStore, PresignedUpload

__all__ = ["BlobNotFound", "BlobStore", "PresignedUpload"]
