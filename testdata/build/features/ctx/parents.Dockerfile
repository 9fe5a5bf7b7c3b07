FROM @BASE@
COPY --parents src/a/b/one.txt src/c/two.txt /p/
COPY --parents ./src/./a/b/one.txt /pivot/
COPY --exclude=*.log src/a /excl/
COPY --exclude=#b --exclude=/b src/a /excl2/
COPY --link file.txt /linked/
