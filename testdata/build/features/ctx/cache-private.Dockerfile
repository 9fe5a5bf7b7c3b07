FROM @BASE@
ARG ROLE
RUN --mount=type=cache,id=pv,target=/c,sharing=private if [ "$ROLE" = holder ]; then touch /c/holder-was-here; sleep 3; else ls /c > /seen; fi
