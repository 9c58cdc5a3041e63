"""Native containers: ostree commits in OCI images (the ostree-ext formats), both ways.

- tarcodec: the tar codec (GNU headers, long names, PAX records), streaming.
- tar_export / tar_import: a commit as an ostree-ext tar stream and back.
- imgref: image references (``oci:DIR:TAG``, ``ostree-unverified-image:...``).
- oci: OCI image layouts (``oci:`` directories, ``oci-archive:`` files).
- registry: ``docker://`` images over the OCI distribution API (httpx).
- encapsulate: ``encapsulate`` (commit to image) and ``unencapsulate`` (image to
  commit), the functions behind ``ostree container``.
"""
