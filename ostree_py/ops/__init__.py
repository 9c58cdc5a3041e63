"""Operations over a Repo: commit, checkout, diff, fsck, prune, the ostree-metadata commit, export, and the functions behind show, log, ls and refs."""
