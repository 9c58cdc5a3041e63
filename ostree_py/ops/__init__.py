"""Operations over a Repo: commit, checkout, diff, fsck, prune, summary, export, and the functions behind show, log, ls and refs."""
