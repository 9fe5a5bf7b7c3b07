FROM @BASE@
ARG NAME=world
RUN <<EOT
echo "hello from a heredoc script" > /script.txt
EOT
RUN cat <<EOT > /inline.txt
inline $NAME
EOT
COPY <<EOT /copied.txt
copied ${NAME}
EOT
COPY <<'EOT' /quoted.txt
not expanded ${NAME}
EOT
RUN <<-EOT
	echo chomped > /chomped.txt
	EOT
