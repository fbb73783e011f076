"""Receivers that connect the member index to Instagram activity."""
