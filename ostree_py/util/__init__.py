"""Small helpers every layer may use: filesystem (fs: the one atomic write, fsync_dir,
mkdir_p, strerror), GLib's words for sizes and booleans (text), fault points,
worker pools, the editor prompt."""
