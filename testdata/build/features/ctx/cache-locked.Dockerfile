FROM @BASE@
ARG WHO
RUN --mount=type=cache,id=lk,target=/c,sharing=locked echo "start $WHO" >> /c/log && sleep 2 && echo "end $WHO" >> /c/log
