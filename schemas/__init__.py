"""Marshmallow schemas: rule files and catalog (``rulefile``), HTTP requests (``request``),
decisions (``decision``) and the error envelope (``errors``)."""
