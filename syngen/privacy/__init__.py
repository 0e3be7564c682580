"""Differential privacy: the accountant of every release on the real rows, and the DP-SGD step."""
