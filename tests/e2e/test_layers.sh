# The include graph follows DESIGN.md's layer order (one check per file).
exec "$(dirname "$0")/../../scripts/check-layers"
