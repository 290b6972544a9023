from __future__ import absolute_import, division, print_function

from .utils import TestImageHash  # noqa: F401 Testing the import
