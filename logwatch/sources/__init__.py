"""Log sources: reading (plain or compressed) files, tailing, rotated history."""
