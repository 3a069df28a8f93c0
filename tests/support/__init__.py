"""What the test packages share: the API caller (api) and the files they upload (files)."""
