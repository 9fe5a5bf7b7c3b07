FROM @BASE@
RUN --mount=type=bind,rw,target=/ctx echo new > /ctx/new.txt && echo more >> /ctx/file.txt && cat /ctx/new.txt /ctx/file.txt > /seen
RUN --mount=type=bind,target=/ro ls /ro > /ro-list
