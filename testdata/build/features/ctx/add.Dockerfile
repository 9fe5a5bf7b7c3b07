FROM @BASE@
ARG URL
ARG SUM
ADD --checksum=${SUM} ${URL} /downloaded/
ARG GITURL
ADD ${GITURL} /gitsrc
ADD --keep-git-dir=true ${GITURL} /gitkeep
