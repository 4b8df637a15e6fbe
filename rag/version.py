"""The installed package's version, for the API schema, the MCP server and the fetcher's
User-Agent."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("newsrag")
except PackageNotFoundError:  # a checkout that is not installed
    __version__ = "0"
