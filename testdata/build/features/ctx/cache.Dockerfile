FROM @BASE@
RUN echo first > /first
COPY file.txt /file.txt
RUN echo after > /after
COPY src /src
