"""The release-planning skill's steps as Markdown prompt files, and their loader."""
