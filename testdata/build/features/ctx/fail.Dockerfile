FROM @BASE@
RUN echo ok
RUN echo failing; exit 3
