"""Reading and writing video: frames with their true timestamps (``video``), region-only RGB conversion
(``lazy_rgb``), a decoder running one frame ahead (``prefetch``)."""
