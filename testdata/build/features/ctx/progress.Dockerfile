FROM @BASE@ AS build
RUN echo line-one && echo line-two >&2
COPY file.txt /file.txt
